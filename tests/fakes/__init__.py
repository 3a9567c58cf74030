"""Stand-ins for external services, run as real servers on 127.0.0.1.

Tests talk to them over real sockets with the real client libraries, so the code under test
goes through the same transport, timeout and error handling it uses in production.
"""

from tests.fakes.anthropic_server import AnthropicReply, FakeAnthropic
from tests.fakes.openai_server import FakeOpenAI, Reply

__all__ = ["AnthropicReply", "FakeAnthropic", "FakeOpenAI", "Reply"]
