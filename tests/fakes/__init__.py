"""Stand-ins for external services, run as real servers on 127.0.0.1.

Tests talk to them over real sockets with the real client libraries, so the code under test
goes through the same transport, timeout and error handling it uses in production. The one
exception, `scripted_provider`, stands in for the provider contract itself, for unit tests of
the agent loop that have no provider code to exercise.
"""

from tests.fakes.anthropic_server import AnthropicReply, FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.scripted_provider import ScriptedProvider, Step

__all__ = ["AnthropicReply", "FakeAnthropic", "FakeOpenAI", "Reply", "ScriptedProvider", "Step"]
