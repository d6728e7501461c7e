"""The indicators in a real browser: the page opens for the observatory reader; its filter form,
when the page has one (i12 is rewriting these pages), narrows the figures and keeps the choice."""

from __future__ import annotations

from tests.browser.conftest import login, shot


def test_indicators_open_in_french_for_the_reader(page):
    login(page, "viewer@test.example")
    page.wait_for_url("**/")
    page.goto("/indicateurs")
    assert page.locator("h1").count() == 1
    assert "Traceback" not in page.content() and "None" not in page.locator("main").inner_text()
    shot(page, "indicators")


def test_indicators_filter_form_works_when_there_is_one(page):
    login(page, "viewer@test.example")
    page.wait_for_url("**/")
    page.goto("/indicateurs")
    form = page.locator("main form[method=get], main form:not([method])")
    assert form.count() >= 1
    select = form.first.locator("select[name=site]")
    options = select.locator("option")
    assert options.count() >= 3  # « Tous » and the two lycées of the live data
    value = options.nth(1).get_attribute("value")
    select.select_option(value)
    with page.expect_navigation():
        form.first.locator("button[type=submit]").first.click()
    assert f"={value}" in page.url or value in page.url
    assert page.locator("main form select[name=site]").input_value() == value
    shot(page, "indicators-filtered")
