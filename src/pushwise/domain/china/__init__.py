"""Android in China: the phone makers' push services (Huawei, Honor, Xiaomi, OPPO, vivo).

Pure rules only: their error codes mapped onto the shared outcomes, their request
bodies per message class, the vendors' day (Asia/Shanghai) and quota arithmetic,
and which of an installation's routes comes next. Facts and their sources are in
docs/china.md.
"""
