"""The recipe runner: the whole Aya Vision recipe as cached, resumable stages in one run folder."""
