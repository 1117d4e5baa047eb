"""Print shell exports for the MariaDB and Redis servers the test suite should use.

DATABASE_URL / REDIS_URL already in the environment win. Otherwise the local servers that
.ci/run prepares are used when they answer, and the embedded default (SQLite, filesystem
broker) when they do not. Run by scripts/test.sh; prints `export NAME=value` lines.
"""

import os
import shlex

LOCAL_DATABASE_URL = "mysql://smartgallery:smartgallery@127.0.0.1:3306/smartgallery"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/1"


def mariadb_answers() -> bool:
    import MySQLdb

    try:
        # The throwaway test credentials that .ci/run creates, not a secret.
        MySQLdb.connect(
            host="127.0.0.1",
            port=3306,
            user="smartgallery",
            password="smartgallery",  # noqa: S106
            database="smartgallery",
            connect_timeout=2,
        ).close()
    except MySQLdb.Error:
        return False
    return True


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(LOCAL_REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def main() -> None:
    exports = {}
    if not os.environ.get("DATABASE_URL") and mariadb_answers():
        exports["DATABASE_URL"] = LOCAL_DATABASE_URL
    if not os.environ.get("REDIS_URL") and redis_answers():
        exports["REDIS_URL"] = LOCAL_REDIS_URL
    for name, value in exports.items():
        print(f"export {name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
