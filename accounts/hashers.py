from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    """Argon2id with costs measured on our hardware (bench/password_hash.py, docs/ACCOUNTS.md).

    32 MiB, 3 passes, 1 lane: about 90 ms per hash on the 2-core reference machine, above the
    OWASP floor (19 MiB, t=2, p=1) on both axes, and a third of Django's 100 MiB per login, so
    twenty concurrent logins stay well inside a small server's memory. One lane because the
    web workers already use every core; more lanes only add thread overhead.

    The algorithm name stays "argon2", so hashes made with Django's default costs are verified
    by this hasher and, their parameters differing, rewritten with ours at the next login.
    """

    memory_cost = 32 * 1024  # KiB
    time_cost = 3
    parallelism = 1
