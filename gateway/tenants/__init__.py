"""Tenants: organisations (departments), their services, and team members with roles."""
