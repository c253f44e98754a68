"""A feed added the way every feed is: this folder (its client, `Source`, settings model and
command) and one registry line (`cbi.feeds.registry.register(FEED)`, done by the test that
uses it)."""
