"""The API's documented shapes. The hot routes validate by hand (see app.py) to the same rules; these models
exist for the OpenAPI document, which clients and the schemathesis test rely on."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_TEXT_CHARS = 5000
MAX_BATCH_ITEMS = 256
# At least one character that is not whitespace.
NOT_BLANK = r"\S"


class PredictRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": "The delivery was quick and the staff lovely."}]}
    )

    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, pattern=NOT_BLANK, description="The text to classify.")


class BatchRequest(BaseModel):
    texts: list[str] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        json_schema_extra={
            "items": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS, "pattern": NOT_BLANK}
        },
        description=f"1 to {MAX_BATCH_ITEMS} texts.",
    )


class PredictResponse(BaseModel):
    text: str
    prediction: str = Field(description="The predicted label, e.g. positive or negative.")
    confidence: float = Field(ge=0.0, le=1.0, description="The probability of the predicted label.")
    tenant: str
    model_version: str


class BatchItem(BaseModel):
    prediction: str
    confidence: float = Field(ge=0.0, le=1.0)


class BatchResponse(BaseModel):
    predictions: list[BatchItem] = Field(description="One result per input text, in input order.")
    model_version: str


class ErrorResponse(BaseModel):
    detail: str


class HealthResponse(BaseModel):
    status: str


class ReadyResponse(BaseModel):
    status: str = Field(description="ready, loading or failed.")
    model_version: str | None = None
    detail: str | None = None


class InfoResponse(BaseModel):
    service: str
    tenant: str
    ready: bool
    model_version: str | None
    model: dict[str, Any] | None = Field(description="The model's metadata.json, once loaded.")
