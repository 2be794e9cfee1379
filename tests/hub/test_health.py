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
    settings.CELERY_BROKER_URL = "amqp://guest:guest@127.0.0.1:1//"
    from hub.celery import app

    app.conf.broker_url = settings.CELERY_BROKER_URL
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = None

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["checks"] == {"database": True, "broker": False}
