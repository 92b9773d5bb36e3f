"""Loopback peers of the Chinese phone makers' push services (Huawei, Honor, Xiaomi, OPPO, vivo)."""
