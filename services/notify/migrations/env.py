from gaap.db.migrate import run_env
from services.notify.callbacks import models as _callbacks  # noqa: F401
from services.notify.delivery import history as _history  # noqa: F401
from services.notify.documents import models as _documents  # noqa: F401
from services.notify.idempotency import models as _idempotency  # noqa: F401
from services.notify.inbound import models as _inbound  # noqa: F401
from services.notify.jobs import models as _jobs  # noqa: F401
from services.notify.letters import models as _letters  # noqa: F401
from services.notify.models import Base
from services.notify.notifications import models as _notifications  # noqa: F401  (register tables)
from services.notify.templates import models as _templates  # noqa: F401
from services.notify.tenancy import models as _tenancy  # noqa: F401
from services.notify.unsubscribe import models as _unsubscribe  # noqa: F401

run_env(Base.metadata)
