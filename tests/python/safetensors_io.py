"""The safetensors format, read and written from its spec with numpy and torch alone (Debian has no safetensors package).

Layout (https://github.com/huggingface/safetensors): an unsigned 64-bit little-endian header length N, N bytes of
UTF-8 JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}}, padded
with spaces so that the data starts 8-byte aligned, then the raw little-endian tensor bytes; data_offsets are relative
to the start of the data section.

Used by llama_parity.py and parity_reference.py, and independent of LoraLab's reader and writer.
"""
import json
import struct

import numpy as np
import torch

# safetensors dtype name -> (numpy dtype of the raw bytes, torch dtype)
DTYPES = {
    "F64": (np.float64, torch.float64), "F32": (np.float32, torch.float32), "F16": (np.float16, torch.float16),
    "BF16": (np.int16, torch.bfloat16),     # no numpy bfloat16: the raw 16-bit patterns, viewed as bfloat16 in torch
    "I64": (np.int64, torch.int64), "I32": (np.int32, torch.int32), "I16": (np.int16, torch.int16),
    "I8": (np.int8, torch.int8), "U8": (np.uint8, torch.uint8), "BOOL": (np.bool_, torch.bool),
}
NAMES = {torch_dtype: name for name, (_, torch_dtype) in DTYPES.items()}
ELEMENT_SIZE = {name: np.dtype(np_dtype).itemsize for name, (np_dtype, _) in DTYPES.items()}


def read_layout(path):
    """(header length N, header dict as parsed, the data section's bytes, the whole file's bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    return n, header, raw[8 + n:], raw


def tensor_from_bytes(chunk, dtype_name, shape):
    np_dtype, torch_dtype = DTYPES[dtype_name]
    array = np.frombuffer(chunk, dtype=np.dtype(np_dtype).newbyteorder("<")).astype(np_dtype)
    tensor = torch.from_numpy(array.copy())
    if dtype_name == "BF16":
        tensor = tensor.view(torch.bfloat16)
    return tensor.reshape(shape)


def read_safetensors(path):
    """name -> torch tensor (bfloat16 stays bfloat16), from the format's spec."""
    _, header, data, _ = read_layout(path)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = tensor_from_bytes(data[begin:end], info["dtype"], info["shape"])
    return out


def tensor_bytes(tensor):
    """The elements' raw little-endian bytes in row-major order."""
    t = tensor.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    array = t.numpy()
    return array.astype(array.dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, tensors, metadata=None, order=None):
    """Writes tensors as the spec lays them out: data in `order` (default: sorted by name), header padded with spaces
    to an 8-byte boundary."""
    header = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    blobs, offset = [], 0
    for name in (order or sorted(tensors)):
        blob = tensor_bytes(tensors[name])
        header[name] = {"dtype": NAMES[tensors[name].dtype], "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
