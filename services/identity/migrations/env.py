from gaap.db.migrate import run_env
from services.identity.accounts import models as _accounts  # noqa: F401  (tables register on import)
from services.identity.clients import models as _clients  # noqa: F401
from services.identity.events import SecurityEvent as _events  # noqa: F401
from services.identity.keys import models as _keys  # noqa: F401
from services.identity.logout import models as _logout  # noqa: F401
from services.identity.models import Base
from services.identity.proving import models as _proving  # noqa: F401
from services.identity.usage import models as _usage  # noqa: F401

run_env(Base.metadata)
