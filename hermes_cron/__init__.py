"""Scheduled jobs: a prompt on a schedule, run as a fresh conversation, its answer delivered
where the user is (docs/agent.md, "Scheduled jobs")."""
