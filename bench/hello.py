"""The ceiling: a bare FastAPI hello-world app, served with the same uvicorn settings."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
