"""Reward plugins for gnivo. Plugins register in the entry-point group `gnivo.rewards`."""

from rewards.base import Reward, RewardParams

__all__ = ["Reward", "RewardParams"]
