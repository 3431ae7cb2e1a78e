//! The keepalived.conf parser (pure: text in, typed configuration or located errors out).
