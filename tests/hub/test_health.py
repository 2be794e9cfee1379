def test_healthz_needs_nothing(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database(client, db):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True}


def test_readyz_is_503_when_the_configured_broker_is_down(client, db, settings):
    # Nothing listens on port 1: the broker check must fail fast, not hang.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["checks"] == {"database": True, "broker": False}


def test_readyz_reaches_a_real_broker(client, db, settings):
    # RabbitMQ runs on this machine (.ci/run starts it when it is down).
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"

    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": True, "broker": True}
