"""The `ayavision` command line: a thin layer over functions the tests call directly."""
