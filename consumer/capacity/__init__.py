"""Capacity planning: the cost model (`sluice cost`), `sluice plan`, the autoscaling
simulator and the load profiles it and the load tests share."""
