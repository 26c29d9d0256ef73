"""Plugin-menu commands: one-shot CoM maps and inference on a dataset layer, with progress.

Both return a FunctionWorker: napari runs it in a thread and adds the returned layers.
Failures become notifications and return no layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui import magic_factory

if TYPE_CHECKING:
    import napari
    import napari.qt.threading


def _run(job, label: str):
    from napari.qt.threading import thread_worker
    from napari.utils import progress as napari_progress
    from napari.utils.notifications import show_error

    @thread_worker
    def work():
        with napari_progress(total=1000, desc=label) as bar:
            def report(done: int, total: int) -> None:
                bar.n = int(1000 * done / max(total, 1))
                bar.refresh()

            try:
                return job(report)
            except Exception as exc:  # noqa: BLE001
                show_error(f"ferromap: {exc}")
                return []

    return work()


@magic_factory(call_button="Compute CoM maps",
               reference={"choices": ["mean", "plane"]},
               rotation_deg={"min": -360.0, "max": 360.0})
def com_maps_command(dataset: napari.layers.Image, reference: str = "mean",
                     rotation_deg: float = 0.0, auto_rotation: bool = False,
                     flip: bool = False
                     ) -> napari.qt.threading.FunctionWorker[list[napari.types.LayerDataTuple]]:
    """CoM magnitude, direction and shift vectors of a 4-D dataset layer."""
    from ferromap._napari._layers import com_layers
    from ferromap._napari._widget import dataset_from_layer
    from ferromap.com_maps import compute_com_maps

    def job(report):
        ds = dataset_from_layer(dataset)
        maps = compute_com_maps(ds, reference=reference, flip=flip, progress=report,
                                rotation_deg="auto" if auto_rotation else rotation_deg)
        return com_layers(maps, ds.calibration.scan_step_nm)

    return _run(job, "CoM maps")


@magic_factory(call_button="Run polarization inference",
               model={"choices": ["conv-proto", "pca-knn"]},
               device={"choices": ["auto", "cpu", "cuda"]})
def inference_command(dataset: napari.layers.Image, model: str = "conv-proto",
                      device: str = "auto", symmetrize: bool = True
                      ) -> napari.qt.threading.FunctionWorker[list[napari.types.LayerDataTuple]]:
    """Polarization labels, confidence, anomalies and low-information mask of a dataset layer."""
    from ferromap._napari._layers import prediction_layers
    from ferromap._napari._widget import dataset_from_layer
    from ferromap.inference import predict_dataset
    from ferromap.models.store import load_model

    def job(report):
        ds = dataset_from_layer(dataset)
        maps = predict_dataset(ds, load_model(model, device=device, symmetrize=symmetrize),
                               progress=report)
        return prediction_layers(maps, ds.calibration.scan_step_nm)

    return _run(job, "polarization inference")
