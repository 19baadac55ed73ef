from broker_support import amqp_vhost, broker

__all__ = ["amqp_vhost", "broker"]
