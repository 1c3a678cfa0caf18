"""The model commands end to end, as a user runs them, in separate processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from ayavision.cli.main import app

runner = CliRunner()

# A fresh interpreter that knows nothing of ayavision: plain transformers only.
PLAIN_TRANSFORMERS = """
import json, sys, torch
from transformers import AutoModelForImageTextToText, AutoProcessor
folder, image, prompt, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
model = AutoModelForImageTextToText.from_pretrained(folder).eval()
processor = AutoProcessor.from_pretrained(folder)
messages = [{"role": "user", "content": [{"type": "image", "path": image}, {"type": "text", "text": prompt}]}]
inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                       return_tensors="pt")
out = model.generate(**inputs, max_new_tokens=n, do_sample=False)
print(json.dumps(out[0, inputs["input_ids"].shape[1]:].tolist()))
"""


def _picture(path: Path, colour: str) -> Path:
    image = Image.new("RGB", (320, 120), "white")
    ImageDraw.Draw(image).ellipse((20, 10, 120, 110), fill=colour)
    image.save(path)
    return path


@pytest.mark.slow
def test_built_model_generates_the_same_tokens_in_plain_transformers(tmp_path):
    out = tmp_path / "tiny"
    built = subprocess.run(
        [sys.executable, "-m", "ayavision.cli.main", "build-model", "--preset", "tiny", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    image = _picture(tmp_path / "red.png", "red")
    ours = subprocess.run(
        [
            sys.executable,
            "-m",
            "ayavision.cli.main",
            "generate",
            "--model",
            str(out),
            "--image",
            str(image),
            "--prompt",
            "What colour is the circle?",
            "--max-new-tokens",
            "12",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ours.returncode == 0, ours.stderr
    ours_tokens = json.loads(ours.stdout)["token_ids"]
    plain = subprocess.run(
        [sys.executable, "-c", PLAIN_TRANSFORMERS, str(out), str(image), "What colour is the circle?", "12"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout.strip().splitlines()[-1]) == ours_tokens
    assert len(ours_tokens) >= 1


def test_the_image_reaches_the_language_model(tiny_model_dir, tmp_path):
    import torch

    from ayavision.model.generate import build_messages
    from ayavision.model.store import load_pretrained

    model, processor = load_pretrained(tiny_model_dir)
    logits = []
    for colour in ("red", "blue"):
        image = Image.open(_picture(tmp_path / f"{colour}.png", colour))
        inputs = processor.apply_chat_template(
            build_messages([image], "colour?"),
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
        )
        with torch.no_grad():
            logits.append(model(**inputs).logits[0, -1])
    assert not torch.allclose(logits[0], logits[1])


def test_info_prints_the_released_parameter_counts():
    result = runner.invoke(app, ["info", "aya-vision-8b"])
    assert result.exit_code == 0, result.output
    assert "8,631,842,032" in result.output and "2197" in result.output
    result = runner.invoke(app, ["info", "aya-vision-32b", "--json"])
    assert json.loads(result.output)["parameters"]["total"] == 33_137_896_688


def test_build_model_errors_are_one_line_and_leave_nothing_behind(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("vision: {config: {hidden_size: 32}}\nllm: {config: {hidden_size: 32}}\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["build-model", "--config", str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "llm" in result.output and "model_type" in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]

    result = runner.invoke(app, ["build-model", "--preset", "aya-vision-8b", "--out", str(out)])
    assert result.exit_code == 2 and "--random-init" in result.output

    result = runner.invoke(app, ["build-model", "--preset", "nope", "--out", str(out)])
    assert result.exit_code == 2 and "tiny" in result.output


def test_build_model_refuses_an_existing_folder_unless_overwrite(tmp_path):
    out = tmp_path / "m"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    result = runner.invoke(app, ["build-model", "--preset", "tiny", "--out", str(out)])
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (out / "keep.txt").exists()
    result = runner.invoke(app, ["build-model", "--preset", "tiny", "--out", str(out), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert not (out / "keep.txt").exists() and (out / "model.safetensors").exists()


def test_build_model_from_a_config_file_with_relative_checkpoints(tmp_path):
    from tests.model.helpers import save_causal_lm, save_siglip

    save_siglip(tmp_path / "enc")
    save_causal_lm(tmp_path / "lm", "qwen2", tie=False)
    config = tmp_path / "model.yaml"
    config.write_text(
        "name: qwen-siglip\nvision: {checkpoint: enc}\nllm: {checkpoint: lm}\n"
        "connector: {downsample_factor: 2, intermediate_size: 64}\ntiling: {tile_size: 64, max_tiles: 6}\n"
    )
    result = runner.invoke(app, ["build-model", "--config", str(config), "--out", str(tmp_path / "vlm")])
    assert result.exit_code == 0, result.output
    assert "loaded" in result.output and "language_model" in result.output
    info = runner.invoke(app, ["info", str(tmp_path / "vlm"), "--json"])
    details = json.loads(info.output)
    assert details["tied_head"] is False and "lm_head" in details["parameters"]
    assert details["max_tiles"] == 6 and details["max_image_tokens"] == 7 * 16
    record = json.loads((tmp_path / "vlm" / "ayavision_build.json").read_text())
    assert record["report"]["missing"] == []
