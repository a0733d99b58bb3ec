"""Graph edits some published models need before a session can be built.

CenterFace (and other old exports) declare a fixed input size; we make the batch and spatial
dimensions symbolic so one session serves every image size, and drop initializers that are
wrongly listed as graph inputs (they block constant folding).
"""

from pathlib import Path


def with_dynamic_spatial_dims(path: Path) -> bytes:
    """Return the model at ``path`` with inputs/outputs shaped ``[1, C, H, W]`` symbolically."""
    # onnx (and ml_dtypes with it) takes ~2 s to import: only a model that needs it pays.
    import onnx  # noqa: PLC0415

    model = onnx.load(str(path))
    graph = model.graph
    initializers = {init.name for init in graph.initializer}
    real_inputs = [i for i in graph.input if i.name not in initializers]
    del graph.input[:]
    graph.input.extend(real_inputs)
    for index, value in enumerate([*graph.input, *graph.output]):
        dims = value.type.tensor_type.shape.dim
        if len(dims) != 4:
            continue
        channels = dims[1].dim_value
        for position, symbol in ((0, None), (2, f"h{index}"), (3, f"w{index}")):
            dims[position].Clear()
            if symbol is None:
                dims[position].dim_value = 1
            else:
                dims[position].dim_param = symbol
        dims[1].dim_value = channels
    del graph.value_info[:]  # stale fixed shapes of intermediate tensors
    return model.SerializeToString()
