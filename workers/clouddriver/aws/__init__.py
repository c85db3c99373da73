"""The ``aws`` cloud provider: server groups on EC2 Auto Scaling, load balancers on ELBv2, AMIs.

Public: :class:`AwsProvider` (registered for ``cloudProvider = "aws"`` accounts) and
:class:`AwsConnector` (the per-region aiobotocore clients). :mod:`.testing` starts a moto server
for tests, since the suites have no AWS account.
"""

from workers.clouddriver.aws.clients import AwsConnector, RegionClients
from workers.clouddriver.aws.provider import AwsProvider

__all__ = ["AwsConnector", "AwsProvider", "RegionClients"]
