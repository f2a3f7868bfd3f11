import os
from collections.abc import Iterator, Sequence
from typing import Any

from ._tgclean import TgcleanError as TgcleanError
from .arrow import RecordBatches

PathLike = str | os.PathLike[str]

def clean(
    inputs: PathLike | Sequence[PathLike], output: PathLike | None = None, **options: Any
) -> dict[str, Any]: ...
def iter_records(inputs: PathLike | Sequence[PathLike], **options: Any) -> Iterator[dict[str, Any]]: ...
def normalise(text: str) -> tuple[str, str | None]:
    """The display text of ``text`` and its key digest in hex (``None``: no letters or digits)."""
def read_arrow(inputs: PathLike | Sequence[PathLike], **options: Any) -> RecordBatches:
    """The records ``clean`` would write, as an Arrow stream (``__arrow_c_stream__``)."""
