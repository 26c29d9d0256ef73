"""`ferromap` command line: thin wrappers over the library.

Errors the user can fix exit non-zero with one line on stderr and no traceback
(``--debug`` shows it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from ferromap.errors import FerromapError, user_message
from ferromap.models.store import DEVICES, PRECISIONS, SHIPPED


class StderrProgress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, label: str, enabled: bool = True) -> None:
        self.label, self.enabled, self._last = label, enabled, 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and done < total):
            return
        self._last = now
        width = 30
        filled = int(width * done / max(total, 1))
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{100 * done / max(total, 1):5.1f}%")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _data_path(path: str) -> str:
    """A path, or the file of a bundled sample (``sample:two-domain``)."""
    if not path.startswith("sample:"):
        return path
    from ferromap.data import sample_path

    return str(sample_path(path.removeprefix("sample:")))


def _open(args):
    from ferromap.io import open_4dstem

    path = _data_path(args.path)
    for flag in ("--mrad-per-px", "--scan-step-nm", "--semiangle"):  # given means used
        value = getattr(args, flag[2:].replace("-", "_"), None)
        if value is not None and not 0 < value < math.inf:
            raise FerromapError(f"{flag} must be a positive number, got {value}")
    ds = open_4dstem(path, scan_shape=args.scan_shape, dataset=getattr(args, "dataset", None))
    if getattr(args, "mrad_per_px", None) is not None:
        ds = ds.with_calibration(mrad_per_px=args.mrad_per_px, mrad_per_px_source="user")
    if getattr(args, "scan_step_nm", None) is not None:
        ds = ds.with_calibration(scan_step_nm=args.scan_step_nm)
    return ds


def cmd_info(args) -> int:
    """Print shape, dtype, chunks and calibration."""
    info = _open(args).describe()
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    cal = info["calibration"]
    print(f"{info['source']}  ({info['format']})")
    print(f"  shape   {tuple(info['shape'])}  (scan_row, scan_col, k_row, k_col)")
    print(f"  dtype   {info['dtype']}    chunks {tuple(info['chunks'])}")
    for key, unit in (("mrad_per_px", "mrad/px"), ("scan_step_nm", "nm"), ("energy_kev", "keV")):
        print(f"  {key:<13}{cal[key] if cal[key] is not None else 'unknown'} {unit}")
    return 0


def cmd_com(args) -> int:
    """Write CoM shift, magnitude, angle and virtual images."""
    from ferromap.figure_worker import FigureWorker
    from ferromap.io.writers import prepare_output_dir
    from ferromap.pipelines.com import compute_com_maps
    from ferromap.pipelines.export import COM_FILES, export_com_maps

    try:
        rotation = "auto" if args.rotation == "auto" else float(args.rotation)
    except ValueError:
        raise FerromapError(f"--rotation must be degrees or 'auto', got {args.rotation!r}"
                            ) from None
    out = prepare_output_dir(Path(args.out), COM_FILES, args.force)
    with FigureWorker() as figures:  # loads matplotlib in a child while the file streams
        ds = _open(args)
        maps = compute_com_maps(ds, reference=args.reference, rotation_deg=rotation,
                                flip=args.flip, remove_hot_pixels=not args.keep_hot_pixels,
                                progress=StderrProgress("CoM", not args.quiet))
        export_com_maps(maps, out, force=True, dataset=ds.describe(), figures=figures)
    print(f"CoM maps of {ds.n_patterns} patterns written to {out}")
    return 0


def _recipe_from_args(args):
    """The named recipe (or a custom one) with every option the user gave applied."""
    from dataclasses import replace

    from ferromap.simulate.recipes import RECIPES, SUITE, Recipe

    named = {**RECIPES, **SUITE}
    if args.recipe and args.recipe not in named:
        raise FerromapError(f"unknown recipe {args.recipe!r}; choose from {', '.join(named)}")
    recipe = named[args.recipe] if args.recipe else Recipe("custom")
    ramp = args.descan_ramp
    overrides = {
        "directions": tuple(args.directions.split(",")) if args.directions else None,
        "thickness_nm": args.thickness_nm, "cells": args.cells, "dose": args.dose,
        "scan": tuple(args.scan) if args.scan else None, "step_A": args.step_A,
        "seed": args.seed, "d_nb": args.d_nb, "d_o": args.d_o, "jitter_A": args.jitter_A,
        "a_site_order": args.a_site_order, "dark_counts": args.dark_counts,
        "psf_sigma_px": args.psf_px,
        "descan_shift_px": tuple(args.descan_shift) if args.descan_shift else None,
        "descan_ramp_px": ((ramp[0], ramp[1]), (ramp[2], ramp[3])) if ramp else None}
    optics = {"tilt_mrad": args.tilt_mrad, "tilt_azimuth_deg": args.tilt_azimuth,
              "defocus_A": None if args.defocus_nm is None else 10 * args.defocus_nm,
              "astigmatism_A": None if args.astigmatism_nm is None else 10 * args.astigmatism_nm,
              "astigmatism_angle_deg": args.astigmatism_angle,
              "cs_A": None if args.cs_um is None else 1e4 * args.cs_um,
              "source_fwhm_A": args.source_fwhm_A, "semiangle_mrad": args.semiangle,
              "detector_px": args.detector_px}
    potential = {"phonon_configs": args.tds_configs, "parametrization": args.parametrization,
                 "slice_thickness_A": args.slice_A, "samples": args.source_samples,
                 "rms_A": _rms(args.rms) if args.rms else None}
    microscope = replace(recipe.microscope, **{k: v for k, v in optics.items() if v is not None})
    multislice = replace(recipe.multislice, **{k: v for k, v in potential.items() if v is not None})
    if args.seed is not None:
        multislice = replace(multislice, seed=args.seed)
    recipe = replace(recipe, microscope=microscope, multislice=multislice,
                     **{k: v for k, v in overrides.items() if v is not None})
    from ferromap.classes import KNN8

    for d in recipe.directions:
        KNN8.index(d)
    return recipe


def _rms(text: str) -> tuple[tuple[str, float], ...]:
    try:
        pairs = [item.split("=") for item in text.split(",")]
        return tuple((el.strip(), float(v)) for el, v in pairs)
    except ValueError:
        raise FerromapError(f"--rms wants ELEMENT=Å pairs like K=0.09,Na=0.09,Nb=0.06,O=0.08, "
                            f"got {text!r}") from None


def cmd_simulate(args) -> int:
    """Simulate a KNN data set with abTEM and save it with labels and calibration."""
    try:
        from ferromap.simulate.recipes import simulate_recipe
    except ImportError as exc:
        raise FerromapError(f"simulation needs the simulate extra (pip install "
                            f"'ferromap[simulate]'): {exc}") from None
    from ferromap.io.dataset import Calibration
    from ferromap.io.save import save_4dstem
    from ferromap.simulate.domains import halves

    out = Path(args.out)
    if out.exists() and not args.force:
        raise FerromapError(f"{out} exists", cli_hint="pass --force to replace it")
    progress = StderrProgress("simulating", not args.quiet)
    if args.domains:  # a recipe of two directions; every other option applies to it
        if args.directions:
            raise FerromapError("give --domains or --directions, not both")
        args.directions = ",".join(args.domains)
        if not (args.recipe or args.scan):
            args.scan = (32, 48)
    recipe = _recipe_from_args(args)
    layout = halves(tuple(recipe.scan), 0, 1) if args.domains else None
    data, labels, meta = simulate_recipe(recipe, progress=progress, layout=layout)
    meta["scan_rows"] = recipe.scan[0]
    cal = Calibration(meta["mrad_per_px"], meta["scan_step_nm"], 200.0,
                      semiangle_mrad=meta.get("microscope", {}).get("semiangle_mrad"))
    save_4dstem(out, data, calibration=cal, labels=labels, metadata=meta)
    print(f"{data.shape} {data.dtype} written to {out} (labels included)")
    return 0


def cmd_train(args) -> int:
    """Train a model from a TOML/YAML config."""
    from ferromap.training.config import TrainConfig
    from ferromap.training.train import default_out, load_labelled, train_model

    config = TrainConfig.from_file(args.config)
    if args.out:
        config.out = args.out
    config.out = config.out or str(default_out(config))
    if Path(config.out).exists() and not args.force:
        raise FerromapError(f"{config.out} exists; pass --force to replace it")
    show = not args.quiet
    data = None if config.bank else load_labelled(
        config.train, size=config.crop_size, progress=StderrProgress("cropping training data",
                                                                     show))

    def progress(p: dict) -> None:
        if not show:
            return
        if "stage" in p:  # drawing the training scans of a scan-context model
            StderrProgress(p["stage"])(p["done"], p["total"])
            return
        if p["val_loss"] is None:
            StderrProgress(f"epoch {p['epoch'] + 1}/{p['epochs']}")(p["batch"], p["batches"])
        else:
            print(f"epoch {p['epoch'] + 1}/{p['epochs']}: train loss {p['train_loss']:.4f}, "
                  f"validation loss {p['val_loss']:.4f}", file=sys.stderr, flush=True)

    _, record = train_model(config, data, progress=progress)
    if record.get("val_accuracy") is not None:
        print(f"{config.name}: validation accuracy {record['val_accuracy']:.3f} on "
              f"{record['n_val']} patterns; model saved to {config.out}")
    else:  # PCA + kNN of the bank keeps no validation scans
        print(f"{config.name}: model saved to {config.out}")
    return 0


def cmd_evaluate(args) -> int:
    """Accuracy and majority class of a model on labelled datasets."""
    from ferromap.models.store import load_model
    from ferromap.training.evaluate import evaluate

    model = load_model(args.model, device=args.device, symmetrize=_symmetrize(args))
    rows = {}
    for path in args.data:
        ev = evaluate(model, [_data_path(path)])
        rows[path] = ev.to_dict()
        print(f"{Path(path).name}: accuracy {ev.accuracy:.3f} ({ev.n_patterns} patterns), "
              f"majority class right in {ev.majority_correct}/{ev.n_scans} scans, "
              f"calibration error {ev.ece:.3f}")
    if args.json:
        from ferromap.io.writers import write_json

        write_json(args.json, {"model": str(args.model), "passes": model.passes,
                               "results": rows})
    return 0


def _client(address: str | None):
    if not address:
        return None
    try:
        from distributed import Client
    except ImportError:
        raise FerromapError("--scheduler needs dask.distributed (pip install distributed)") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise FerromapError(f"cannot connect to the dask scheduler at {address}: {exc}") from None


def cmd_predict(args) -> int:
    """Polarization maps of a dataset (the file contract of docs/conventions.md)."""
    from ferromap.pipelines.export import check_output_dir, export_maps
    from ferromap.pipelines.predict import run_predict

    out = check_output_dir(Path(args.out), args.force)
    ds = _open(args)
    client = _client(args.scheduler)
    show = not args.quiet
    try:
        maps = run_predict(ds, args.model, device=args.device, precision=args.precision,
                           symmetrize=_symmetrize(args),
                           descan=args.descan, semiangle_mrad=args.semiangle,
                           progress=StderrProgress("predicting", show), scheduler=client)
    finally:
        if client is not None:
            client.close()
    if maps.calibration is not None:
        print(f"ferromap: {maps.calibration.message()}; pass --mrad-per-px to override",
              file=sys.stderr)
    if maps.extra.get("scan_step_estimate"):
        print(f"ferromap: {maps.extra['scan_step_estimate']['message']}; pass --scan-step-nm "
              "to override", file=sys.stderr)
    export_maps(maps, out, force=True, source=ds.source)
    print(f"{maps.n_patterns} patterns in {maps.seconds:.1f} s: {maps.title()}; maps written "
          f"to {out}")
    return 0


def _add_output(p: argparse.ArgumentParser, out_help: str, *, required: bool = True) -> None:
    p.add_argument("--out", required=required, help=out_help)
    p.add_argument("--force", action="store_true", help="replace the results of an earlier run")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _add_symmetrize(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--no-symmetrize", action="store_true",
                   help="one forward pass per pattern, not an average over the crystal's "
                   "symmetry orientations")
    g.add_argument("--symmetrize", action="store_true",
                   help="average every pattern over the crystal's 8 symmetry orientations "
                   "(8 passes; the model file says which is the default)")


def _symmetrize(args) -> bool | None:
    """``--symmetrize`` / ``--no-symmetrize``, or ``None``: the model file's default."""
    return True if args.symmetrize else (False if args.no_symmetrize else None)


def _add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=SHIPPED[0],
                   help=f"{', '.join(SHIPPED)} or a model folder (default {SHIPPED[0]})")
    p.add_argument("--device", default="auto", choices=DEVICES)


def _add_input(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="dataset file, folder of per-position TIFFs, or sample:NAME "
                   "(sample:two-domain, sample:single-ru)")
    p.add_argument("--scan-shape", nargs=2, type=int, metavar=("R", "C"),
                   help="scan rows and columns for frame stacks")
    p.add_argument("--dataset", help="index or HDF5 path when the file holds several datasets")


def _add_simulate_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("specimen")
    g.add_argument("--directions", help="comma-separated classes, e.g. RM,MU (default: all 8)")
    g.add_argument("--thickness-nm", type=float)
    g.add_argument("--cells", type=int, help="lateral cells of the periodic box")
    g.add_argument("--d-nb", type=float, help="Nb displacement in Å (default 0.15)")
    g.add_argument("--d-o", type=float, help="O displacement opposite to Nb, Å (default 0)")
    g.add_argument("--a-site-order", choices=("random", "layered", "columnar"))
    g.add_argument("--tds-configs", type=int, metavar="N",
                   help="frozen-phonon configurations (thermal diffuse scattering; 0: none)")
    g.add_argument("--rms", help="rms displacements per axis, e.g. K=0.09,Na=0.09,Nb=0.06,O=0.08")
    g.add_argument("--parametrization", choices=("lobato", "kirkland"))
    g.add_argument("--slice-A", type=float, help="multislice slice thickness in Å")
    g = p.add_argument_group("scan and probe")
    g.add_argument("--scan", nargs=2, type=int, metavar=("R", "C"), help="positions per scan")
    g.add_argument("--step-A", type=float, help="scan step in Å")
    g.add_argument("--jitter-A", type=float, help="random offset of every probe position, Å")
    g.add_argument("--semiangle", type=float, metavar="MRAD", help="convergence semi-angle")
    g.add_argument("--tilt-mrad", type=float, help="crystal mistilt")
    g.add_argument("--tilt-azimuth", type=float, metavar="DEG",
                   help="mistilt direction, degrees CCW from +col")
    g.add_argument("--defocus-nm", type=float)
    g.add_argument("--astigmatism-nm", type=float, help="two-fold astigmatism C12")
    g.add_argument("--astigmatism-angle", type=float, metavar="DEG")
    g.add_argument("--cs-um", type=float, help="spherical aberration C30 in µm")
    g.add_argument("--source-fwhm-A", type=float,
                   help="finite source (partial spatial coherence), FWHM in Å")
    g.add_argument("--source-samples", type=int, metavar="N",
                   help="probe positions averaged per pattern for the finite source")
    g = p.add_argument_group("detector")
    g.add_argument("--detector-px", type=int, help="pattern side in pixels")
    g.add_argument("--dose", type=float, help="electrons per pattern (default: noise-free)")
    g.add_argument("--dark-counts", type=float, help="mean dark counts per pixel and frame")
    g.add_argument("--psf-px", type=float, help="detector PSF, Gaussian sigma in pixels")
    g.add_argument("--descan-shift", nargs=2, type=float, metavar=("DR", "DC"),
                   help="global beam shift on the detector, px")
    g.add_argument("--descan-ramp", nargs=4, type=float, metavar=("RR", "RC", "CR", "CC"),
                   help="beam shift (row, col) per scan row, then per scan column, px")
    g.add_argument("--seed", type=int)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ferromap``."""
    from ferromap import __version__

    parser = argparse.ArgumentParser(prog="ferromap", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ferromap {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="shape, dtype, chunks and calibration of a dataset")
    _add_input(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("com", help="centre-of-mass shift maps and virtual images")
    _add_input(p)
    _add_output(p, "output folder")
    p.add_argument("--reference", choices=("mean", "plane", "quadratic"), default="mean",
                   help="shift reference: global mean CoM or the fitted descan surface")
    p.add_argument("--rotation", default="0", help="scan-detector rotation in degrees, or 'auto'")
    p.add_argument("--flip", action="store_true", help="mirror detector rows before rotating")
    p.add_argument("--mrad-per-px", type=float, help="detector angular sampling")
    p.add_argument("--keep-hot-pixels", action="store_true", help="do not mask hot pixels")
    p.set_defaults(func=cmd_com)

    p = sub.add_parser("predict", help="polarization maps of a dataset with a trained model")
    _add_input(p)
    _add_output(p, "output folder")
    _add_model(p)
    p.add_argument("--mrad-per-px", type=float,
                   help="detector sampling; if the file lacks it, it is estimated from the "
                   "bright-field disk and the semi-angle")
    p.add_argument("--semiangle", type=float, metavar="MRAD",
                   help="probe convergence semi-angle for that estimate (default: the file's, "
                   "else 24 mrad)")
    p.add_argument("--scan-step-nm", type=float, metavar="NM",
                   help="distance between scan positions (the default model reads the "
                   "scan's lattice and needs it; default: the file's)")
    p.add_argument("--descan", default="plane", choices=("plane", "quadratic", "mean"),
                   help="beam-centre surface fitted to the CoM over the scan (default: plane)")
    p.add_argument("--scheduler", help="dask.distributed scheduler address (tcp://host:port)")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="encoder compute type (auto: bf16 on CPUs with native bfloat16)")
    _add_symmetrize(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("simulate", help="simulate KNN 4D-STEM data with abTEM (simulate extra)")
    _add_output(p, "destination .zarr folder or .npy file")
    p.add_argument("--recipe", help="a named data set (train-20nm, test-20nm, suite-experiment, ...)")
    p.add_argument("--domains", nargs=2, metavar=("LEFT", "RIGHT"),
                   help="one scan of two domains split by a vertical wall, e.g. MU RM "
                        "(default --scan 32 48; every other option applies)")
    _add_simulate_options(p)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("train", help="train a model from a TOML/YAML config")
    p.add_argument("--config", required=True, help="training config (.toml or .yaml)")
    _add_output(p, "model folder (overrides the config's 'out')", required=False)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="accuracy and majority class on labelled datasets")
    p.add_argument("data", nargs="+", help="labelled datasets (e.g. from ferromap simulate)")
    _add_model(p)
    p.add_argument("--json", help="also write the results to this JSON file")
    _add_symmetrize(p)
    p.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ferromap`` command."""
    args = build_parser().parse_args(argv)
    out = Path(args.out) if getattr(args, "out", None) else None
    new_out = out is not None and not out.exists()
    code = 1
    try:
        code = _run(args)
        return code
    finally:
        if code != 0 and new_out:  # a failed or interrupted run leaves no empty folder
            try:
                if out.is_dir() and not any(out.iterdir()):
                    out.rmdir()
            except OSError:
                pass


def _run(args) -> int:
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("ferromap: interrupted", file=sys.stderr)
        return 130
    except (FerromapError, ValueError, OSError) as exc:
        if args.debug:
            raise
        print(f"ferromap: error: {user_message(exc, 'cli')}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - never a traceback unless --debug
        if args.debug:
            raise
        print(f"ferromap: unexpected error: {type(exc).__name__}: {exc} (rerun with --debug "
              "for the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
