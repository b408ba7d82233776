"""Settings read from the environment."""
import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    supabase_url: str = field(default_factory=lambda: os.environ.get("SUPABASE_URL", ""))
    supabase_key: str = field(default_factory=lambda: os.environ.get("SUPABASE_KEY", ""))
    service_role_key: str = field(
        default_factory=lambda: os.environ.get("SUPABASE_SERVICE_ROLE_KEY", "")
    )
    clerk_issuer: str = field(default_factory=lambda: os.environ.get("CLERK_ISSUER", ""))
    clerk_jwks_url: str = field(default_factory=lambda: os.environ.get("CLERK_JWKS_URL", ""))
    telephony_api_key: str = field(default_factory=lambda: os.environ.get("TELEPHONY_KEY", ""))
    page_size: int = 50


settings = Settings()
