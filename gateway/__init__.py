"""The messaging gateway: chat apps in front of the agent."""
