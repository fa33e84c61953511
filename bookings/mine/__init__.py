"""A delegate's own bookings without an account: a page and a private calendar feed, reached
through a link e-mailed to the address."""
