"""A running app's admin HTTP API, as a bank's tooling calls it (real-call tests)."""

import aiohttp


async def put_greeting(port: int, token: str, tenant: str, text: str, expected: str) -> int:
    """Change ``tenant``'s greeting through the admin API on ``port``; the answer's status."""
    url = f"http://127.0.0.1:{port}/api/tenants/{tenant}/prompts/greeting"
    async with (
        aiohttp.ClientSession() as http,
        http.put(
            url,
            json={"text": text, "expected_text": expected},
            headers={"Authorization": f"Bearer {token}"},
        ) as answer,
    ):
        return answer.status
