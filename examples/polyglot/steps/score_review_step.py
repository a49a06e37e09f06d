"""Event step (Python): scores a submitted review and updates shared counters."""

config = {
    "type": "event",
    "name": "score-review",
    "subscribes": ["review.submitted"],
    "emits": [],
    "flows": ["reviews"],
    "input": {
        "type": "object",
        "required": ["id", "text", "stars"],
        "properties": {"id": {"type": "string"}, "text": {"type": "string"}, "stars": {"type": "integer"}},
    },
}

POSITIVE = {"great", "good", "love", "excellent", "fast"}
NEGATIVE = {"bad", "slow", "broken", "hate", "late"}


async def handler(review, context):
    words = {w.strip(".,!?").lower() for w in review["text"].split()}
    sentiment = len(words & POSITIVE) - len(words & NEGATIVE)
    score = review["stars"] * 20 + 10 * sentiment
    stored = await context.state.get("reviews", review["id"]) or {}
    await context.state.set("reviews", review["id"], {**stored, **review, "score": score, "status": "scored"})
    # Atomic counters: concurrent reviews never lose an increment.
    await context.state.update("review-stats", "totals", [
        {"type": "increment", "path": "scored"},
        {"type": "increment", "path": "points", "by": score},
    ])
    context.logger.info("review scored", {"id": review["id"], "score": score, "traceId": context.trace_id})
