"""The operator dashboard: server-rendered pages at `/dashboard`, live numbers over Server-Sent Events."""
