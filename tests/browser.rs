//! Browser tests of the login_page example (being written).
