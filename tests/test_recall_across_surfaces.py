"""Recall across surfaces: what was said to the bot on Telegram is found from the web, while
both run on one home (one state.db), through the real gateway and the real web server."""

from __future__ import annotations

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.telegram_server import FakeTelegram
from tests.gateway_support import TIMEOUT, GatewayProcess, texts
from tests.support import ServerProcess, fake_provider_env, read_events, request

USER = 4242


def test_the_web_recalls_a_decision_made_on_telegram(tmp_path):
    with FakeTelegram() as tg, FakeOpenAI() as llm:
        gateway = GatewayProcess(tmp_path / "gw", llm, tg, HERMES_TELEGRAM_ALLOWED_USERS=str(USER))
        gateway.start()
        web = ServerProcess(
            tmp_path / "web", extra_env={**fake_provider_env(llm), "HERMES_HOME": str(gateway.home)}
        )
        web.start()
        try:
            llm.script(Reply.text("Slate it is."))
            tg.push_message(USER, USER, "Let's use slate tiles for the roof")
            tg.wait_until(lambda: texts(tg, USER) == ["Slate it is."], TIMEOUT)

            sid = request(web.base, "POST", "/api/session/new", {}).json["session"]["session_id"]
            llm.script(
                Reply.tool_calls([("session_search", {"query": "slate tiles"})]),
                Reply.text("On Telegram you chose slate."),
            )
            body = {"session_id": sid, "message": "What did we decide about the roof?"}
            started = request(web.base, "POST", "/api/chat/start", body)
            assert read_events(web.base, started.json["stream_id"])[-1][0] == "stream_end"
        finally:
            web.stop()
            assert gateway.stop() == 0, gateway.log()

    found = llm.requests[-1]["messages"][-1]["content"]
    assert found.startswith("1. “")
    assert "(telegram, " in found
    assert ">>>slate<<< >>>tiles<<<" in found or ">>>slate tiles<<<" in found
