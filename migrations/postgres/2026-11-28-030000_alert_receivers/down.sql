DROP TABLE alert_receivers;
