from planner import create_app


def test_config_default_is_not_testing():
    assert not create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).testing


def test_empty_home_page(client):
    r = client.get("/")
    assert r.status_code == 200
    assert "Belum ada data" in r.get_data(as_text=True)


def test_404_is_a_page_not_a_trace(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404
    assert "Traceback" not in r.get_data(as_text=True)
