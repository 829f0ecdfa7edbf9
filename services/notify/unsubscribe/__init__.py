"""One-click unsubscribe (notify spec §13.3): the links notify makes (`links`), the recipient's pages and the
service's reports (`endpoints`), and the requests and reports themselves (`service`, `repository`, `models`)."""
