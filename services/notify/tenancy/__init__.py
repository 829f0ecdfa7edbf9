"""Notify's copy of the tenant state the gateway owns: services, their permissions and who they may send to."""
