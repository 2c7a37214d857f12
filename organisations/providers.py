"""Errors every provider module raises, so callers decide retry vs. tell-the-clinic in one way."""


class ProviderError(Exception):
    """A call to Twilio, Vapi, Google, Cal.com or Stripe failed."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None):
        super().__init__(message)
        self.provider = provider
        self.status = status


class TransientProviderError(ProviderError):
    """Worth retrying with backoff: timeouts, connection errors, 5xx, 429."""


class PermanentProviderError(ProviderError):
    """Retrying will not help (bad credentials, revoked access, invalid request): surface it."""
