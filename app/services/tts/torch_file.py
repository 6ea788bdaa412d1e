"""Read a tensor that `torch.save` wrote, without torch: such a file is a zip of one pickle and raw storages.

Only what a voice pack needs is understood: one float tensor on CPU storage. The pickle may name nothing
else (like `torch.load(weights_only=True)`), so loading a file never runs code from it.
"""

import collections
import io
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_STORAGE_DTYPES = {
    "FloatStorage": "f4",
    "DoubleStorage": "f8",
    "HalfStorage": "f2",
    "BFloat16Storage": "u2",  # widened to float32 below
}


class TorchFileError(ValueError):
    """The file is not a tensor saved by `torch.save` (zip format) that this reader understands."""


@dataclass(frozen=True)
class _StorageType:
    """Stands for `torch.FloatStorage` and its kin inside the pickle."""

    name: str


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any) -> Any:
    """`torch._utils._rebuild_tensor_v2`: a strided view of the storage, copied, bounds checked first."""
    if any(n < 0 for n in size) or any(s < 0 for s in stride) or offset < 0:
        raise TorchFileError("the tensor has a negative size, stride or offset")
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) if all(size) else offset - 1
    if last >= len(storage):
        raise TorchFileError("the tensor reaches past the end of its storage")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * item for s in stride), writeable=False
    )
    return np.array(view)


class _Unpickler(pickle.Unpickler):
    """Resolves storages from the archive and refuses every global but the tensor's own."""

    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str, byteorder: str) -> None:
        super().__init__(io.BytesIO(data))
        self.archive = archive
        self.prefix = prefix
        self.endian = "<" if byteorder == "little" else ">"

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise TorchFileError(f"the file refers to {module}.{name}, which a tensor file never needs")

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise TorchFileError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise TorchFileError(f"unexpected storage type {storage_type!r}")
        code = _STORAGE_DTYPES[storage_type.name]
        raw = np.frombuffer(self.archive.read(f"{self.prefix}/data/{key}"), dtype=self.endian + code)
        if len(raw) < numel:
            raise TorchFileError(f"storage {key} holds {len(raw)} values, {numel} expected")
        if storage_type.name == "BFloat16Storage":
            return (raw.astype(np.uint32) << 16).view(np.float32)
        return raw.astype(raw.dtype.newbyteorder("="))


def read_tensor(path: Path) -> np.ndarray:
    """The tensor saved in `path` as a numpy array; `TorchFileError` when it is not one."""
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") or name == "data.pkl"]
            if len(pickles) != 1:
                raise TorchFileError(f"{path.name} holds {len(pickles)} pickles, not one")
            prefix = pickles[0].rpartition("/")[0]
            names = set(archive.namelist())
            byteorder_name = f"{prefix}/byteorder"
            byteorder = archive.read(byteorder_name).decode().strip() if byteorder_name in names else "little"
            result = _Unpickler(archive.read(pickles[0]), archive, prefix, byteorder).load()
    except zipfile.BadZipFile as exc:
        raise TorchFileError(f"{path.name} is not a zip-format torch file (saved by torch 1.6 or later)") from exc
    except (pickle.UnpicklingError, KeyError, EOFError, TypeError) as exc:
        raise TorchFileError(f"{path.name} could not be read: {type(exc).__name__}: {exc}") from exc
    if not isinstance(result, np.ndarray):
        raise TorchFileError(f"{path.name} holds a {type(result).__name__}, not a tensor")
    return result
