"""Print how fast a fresh tiny LM learns the named-object lookup from each kind of image token
(ayavision.world.pretrain.learnability): held-out accuracy every 50 steps, per variant, and a JSON copy.

.venv/bin/python scripts/lookup_learnability.py [--variants truth:concat,encoder:pooled,...] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from transformers import Cohere2Config, SiglipVisionModel
from transformers.utils import logging as hf_logging

from ayavision.utils.fs import atomic_write_text
from ayavision.world.cache import MARKER
from ayavision.world.pretrain import learnability as toy
from ayavision.world.pretrain.dense import CODE, CodeFit
from ayavision.world.pretrain.shipped import SHIPPED_PARTS

FORMS = ("concat", "pooled", "tied")
VARIANTS = "truth:concat,truth:pooled,truth:tied,encoder:concat,encoder:pooled,probe:concat,probe:pooled"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=VARIANTS, help="TOKENS:concat|pooled|tied,... (both@S: state times S)")
    parser.add_argument("--items", type=int, default=12000, help="vqa items drawn for training (seed 5)")
    parser.add_argument("--held-out", type=int, default=420, help="vqa items drawn for scoring (seed 6)")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--encoder", type=Path, default=SHIPPED_PARTS / "encoder")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--shares-only", action="store_true", help="print the encoder's code shares, train nothing")
    parser.add_argument(
        "--background-length",
        type=float,
        default=None,
        help="for an encoder built with code_fit: fixed, scale its states along the fit's background directions",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()  # loading the vision tower alone from a SiglipModel lists the text tower's keys
    variants = [v.split(":") for v in args.variants.split(",")]
    for variant in variants:
        if len(variant) != 2 or variant[0].split("@")[0] not in toy.TOKENS or variant[1] not in FORMS:
            parser.error(
                f"--variants: {':'.join(variant)!r} is not TOKENS:FORM with TOKENS in {toy.TOKENS}, FORM in {FORMS}"
            )
    train_q, held_q = toy.lookup_questions(args.items, 5), toy.lookup_questions(args.held_out, 6)
    print(f"{len(train_q)} training and {len(held_q)} held-out named-object questions", flush=True)
    encoder = SiglipVisionModel.from_pretrained(args.encoder).eval()
    llm_config = Cohere2Config.from_pretrained(SHIPPED_PARTS / "text-llm")
    kinds = {tokens.split("@")[0] for tokens, _ in variants}
    if args.shares_only:
        kinds = {"encoder"}
    derived = kinds & {"probe", "both"}
    if "encoder" in kinds or derived:
        kinds |= {"truth", "encoder"}
    feats = {k: tuple(toy.patch_features(qs, k, encoder) for qs in (train_q, held_q)) for k in kinds - derived}
    if args.background_length is not None:
        built = json.loads((args.encoder / MARKER).read_text(encoding="utf-8"))["config"]
        if built.get("code_fit") != "fixed" or not built.get("code_weight"):
            parser.error(f"--background-length: {args.encoder} was not built with code_fit: fixed")
        background = CodeFit(built["hidden_size"], "fixed", built["seed"]).directions[CODE:]
        feats["encoder"] = tuple(
            [toy.shrink_directions(f, background, args.background_length) for f in part] for part in feats["encoder"]
        )
    results = {}
    if "encoder" in kinds:
        shares = toy.code_share_by_attribute(feats["encoder"][0][:3000], feats["truth"][0][:3000])
        results["code_share"] = shares
        print(
            "share of the encoder state's variance its true code explains: "
            + ", ".join(f"{name} {share:.3f}" for name, share in shares.items()),
            flush=True,
        )
    if args.shares_only:
        variants = []
    if "probe" in kinds:
        weight = toy.fit_probe(feats["encoder"][0][:3000], feats["truth"][0][:3000])
        feats["probe"] = tuple([toy.apply_probe(f, weight) for f in part] for part in feats["encoder"])
    for tokens, form in variants:
        if tokens.startswith("both"):
            scale = float(tokens.split("@")[1]) if "@" in tokens else 1.0
            parts = tuple(
                [torch.cat([t, scale * e], -1) for t, e in zip(*pair, strict=True)]
                for pair in zip(feats["truth"], feats["encoder"], strict=True)
            )
        else:
            parts = feats[tokens]
        train, held = (
            [(toy.image_tokens(f, form == "pooled"), q) for f, q in zip(part, qs, strict=True)]
            for part, qs in zip(parts, (train_q, held_q), strict=True)
        )
        r = toy.train_toy(list(train), list(held), llm_config, steps=args.steps, tied=form == "tied")
        results[f"{tokens}:{form}"] = r.__dict__
        curve = " ".join(f"{a:.2f}" for a in r.accuracy)
        kinds_at_end = ", ".join(f"{k[4:]} {v:.2f}" for k, v in r.per_kind[-1].items())
        print(f"| {tokens} | {form} | {curve} | {kinds_at_end} | {r.seconds:.0f} s |", flush=True)
    if args.out:
        atomic_write_text(args.out, json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
