//! Unit tests of the protocol rules, each driving one or a few nodes by hand.
