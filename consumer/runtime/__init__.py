"""The long-lived service around the engine: wiring (`service`), health endpoints, EMF
metrics, ECS scale-in protection and the backlog-per-task publisher."""
