"""The fields every job route takes besides its own."""

from typing import Literal

from pydantic import BaseModel, Field


class JobFields(BaseModel):
    """The fields every job route takes besides its own."""

    name: str | None = None
    webhook_url: str | None = None
    wait: bool = False
    wait_timeout_s: float | None = Field(
        None, gt=0, description="With wait=true: wait at most this long (and never past WAIT_TIMEOUT_S)."
    )
    wait_timeout_status: Literal["504", "202"] = Field(
        "504", description="With wait=true, the answer when the wait ends first: 504 (a retry reattaches) or 202."
    )
    dedup: bool = Field(True, description="false: always start a new job, even for a request made before.")
    folder: str | None = Field(
        None, description="The folder for the result, e.g. reports/2024 (made when missing); default: the top level."
    )
