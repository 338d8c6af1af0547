"""PNG figures: decoded, of the documented size, with something drawn, and no pyplot state touched."""

import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from matplotlib.image import imread

from layerwise.inspect import plots

HISTORY = {"epoch": [0, 1, 2, 3], "loss": [1.2, 0.8, 0.5, 0.4], "val_loss": [1.3, 0.9, 0.7, 0.65],
           "accuracy": [0.5, 0.7, 0.8, 0.85], "val_accuracy": [0.45, 0.65, 0.75, 0.8], "lr": [0.001] * 4}


def _drawn(image):
    """Fraction of pixels that are not white."""
    rgb = image[..., :3]
    return float(np.mean(rgb.min(axis=-1) < 0.95))


@pytest.mark.parametrize("history, shape", [
    (HISTORY, (400, 1000, 4)),
    ({"epoch": [0, 1], "loss": [3.0, 2.0], "lr": [0.1, 0.1]}, (400, 500, 4)),
])
def test_training_curves_png_has_one_panel_per_metric(tmp_path, history, shape):
    path = tmp_path / "curves.png"
    plots.training_curves(history, path, title="run")
    image = imread(path)
    assert image.shape == shape
    assert 0.01 < _drawn(image) < 0.5


def _orange(image):
    """Fraction of pixels in matplotlib's second default colour (the validation line)."""
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    return float(np.mean((r > 0.9) & (g > 0.4) & (g < 0.6) & (b < 0.2)))


def test_training_curves_draw_validation_in_a_second_colour(tmp_path):
    with_val, without_val = tmp_path / "a.png", tmp_path / "b.png"
    plots.training_curves(HISTORY, with_val)
    plots.training_curves({k: v for k, v in HISTORY.items() if not k.startswith("val_")}, without_val)
    assert _orange(imread(with_val)) > 10 * max(_orange(imread(without_val)), 1e-6)


def test_confusion_matrix_png(tmp_path):
    path = tmp_path / "confusion.png"
    matrix = np.array([[5, 1, 0], [0, 7, 2], [1, 0, 9]])
    plots.confusion_matrix(matrix, ["cat", "dog", "emu"], path, title="test")
    image = imread(path)
    assert image.shape == (500, 600, 4)
    assert _drawn(image) > 0.05


def test_plots_leave_matplotlib_global_state_alone(tmp_path):
    backend = matplotlib.get_backend()
    plots.training_curves(HISTORY, tmp_path / "curves.png")
    assert matplotlib.get_backend() == backend
    code = ("import sys, layerwise.inspect.plots as p; p.confusion_matrix([[1, 0], [0, 1]], [0, 1], sys.argv[1]); "
            "print('matplotlib.pyplot' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "c.png")], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_unwritable_path_raises_oserror(tmp_path):
    with pytest.raises(OSError):
        plots.training_curves(HISTORY, tmp_path / "missing" / "curves.png")
