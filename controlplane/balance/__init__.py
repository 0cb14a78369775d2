"""Benefit-based Load Balancing (BLB) of flows over a monitor cluster.

After Le, Al-Shaer and Boutaba, "On Optimizing Load Balancing of Intrusion Detection and
Prevention Systems": flows are grouped into weighted, decaying clusters by a logical
distance (`distance`), a new flow joins the clusters of most benefit whose workers keep
the load variance within V (`solvep`), else it founds a cluster on the least loaded
worker (`blb`). `kmedoids` seeds one cluster per worker from past flows. docs/balance.md
describes the method, its reading of the paper, and the switch side.
"""
