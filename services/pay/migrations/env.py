from gaap.db.migrate import run_env
from services.pay.models import Base

run_env(Base.metadata)
