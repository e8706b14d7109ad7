/**
 * The EgressRouter CustomResourceDefinition (network.operator.openshift.io/v1), for clusters that
 * do not have it (OpenShift installs its own). The schema is the published one (openshift/api,
 * networkoperator/v1) field for field — types, enums, defaults, formats, required lists, the
 * status list keyed by type, the status subresource and the printer columns — with descriptions
 * in this project's words. The tests compare it with the published schema.
 */
import { EGRESS_ROUTER_GROUP } from './rbac.js';
import type { KubeObject, Manifest } from './types.js';

const ipString = (description: string) => ({
  anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }],
  description,
  type: 'string',
});

const port = (description: string) => ({
  description,
  format: 'int32',
  maximum: 65535,
  minimum: 1,
  type: 'integer',
});

const spec = {
  description: 'The egress router wanted: its addresses, its interface and how it redirects.',
  oneOf: [{ properties: { mode: { enum: ['Redirect'] } }, required: ['redirect'] }],
  properties: {
    addresses: {
      description: "Addresses for the router's egress interface.",
      items: {
        description: 'An address (CIDR or bare IP) and, optionally, its next-hop gateway.',
        properties: {
          gateway: ipString('The next-hop gateway, IPv4 or IPv6, when it cannot be found automatically.'),
          ip: { description: 'The egress address, IPv4 or IPv6.', type: 'string' },
        },
        required: ['ip'],
        type: 'object',
      },
      type: 'array',
    },
    mode: {
      default: 'Redirect',
      description: 'How the router forwards traffic; Redirect is the only mode.',
      enum: ['Redirect'],
      type: 'string',
    },
    networkInterface: {
      default: { macvlan: { mode: 'Bridge' } },
      description: 'The egress interface; a macvlan.',
      oneOf: [{ required: ['macvlan'] }],
      properties: {
        macvlan: {
          default: { mode: 'Bridge' },
          description: 'The macvlan interface.',
          properties: {
            master: {
              description: 'The node interface the macvlan sits on; inferred from the address when omitted.',
              type: 'string',
            },
            mode: {
              default: 'Bridge',
              description: 'The macvlan mode.',
              enum: ['Bridge', 'Private', 'VEPA', 'Passthru'],
              type: 'string',
            },
          },
          required: ['mode'],
          type: 'object',
        },
      },
      type: 'object',
    },
    redirect: {
      description: 'The Redirect mode settings.',
      properties: {
        fallbackIP: ipString(
          'Where connections on ports without a rule go (the same port); without it they are rejected.',
        ),
        redirectRules: {
          description: 'Port-based DNAT rules.',
          items: {
            description: 'Connections to port/protocol go to destinationIP:targetPort.',
            properties: {
              destinationIP: ipString('The destination, IPv4 or IPv6.'),
              port: port('The port clients connect to on the router.'),
              protocol: { description: 'TCP, UDP or SCTP.', enum: ['TCP', 'UDP', 'SCTP'], type: 'string' },
              targetPort: port('The port on the destination; the same as port when omitted.'),
            },
            required: ['destinationIP', 'port', 'protocol'],
            type: 'object',
          },
          type: 'array',
        },
      },
      type: 'object',
    },
  },
  required: ['addresses', 'mode', 'networkInterface'],
  type: 'object',
};

const status = {
  description: 'What the router reports.',
  properties: {
    conditions: {
      description: "The router's conditions, one per type.",
      items: {
        description: 'One condition: Available, Progressing or Degraded.',
        properties: {
          lastTransitionTime: {
            description: 'When status last changed.',
            format: 'date-time',
            nullable: true,
            type: 'string',
          },
          message: { description: 'For humans; may span lines.', type: 'string' },
          reason: { description: 'Why, in CamelCase.', type: 'string' },
          status: {
            description: 'True, False or Unknown.',
            enum: ['True', 'False', 'Unknown'],
            type: 'string',
          },
          type: {
            description: 'Available, Progressing or Degraded.',
            enum: ['Available', 'Progressing', 'Degraded'],
            type: 'string',
          },
        },
        required: ['lastTransitionTime', 'status', 'type'],
        type: 'object',
      },
      type: 'array',
      'x-kubernetes-list-map-keys': ['type'],
      'x-kubernetes-list-type': 'map',
    },
  },
  required: ['conditions'],
  type: 'object',
};

export function egressRouterCrd(): Manifest {
  const object = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `egressrouters.${EGRESS_ROUTER_GROUP}` },
    spec: {
      group: EGRESS_ROUTER_GROUP,
      names: {
        kind: 'EgressRouter',
        listKind: 'EgressRouterList',
        plural: 'egressrouters',
        singular: 'egressrouter',
      },
      scope: 'Namespaced',
      versions: [
        {
          additionalPrinterColumns: [
            { jsonPath: '.status.conditions[*].type', name: 'Condition', type: 'string' },
            { jsonPath: '.status.conditions[*].status', name: 'Status', type: 'string' },
          ],
          name: 'v1',
          schema: {
            openAPIV3Schema: {
              description:
                'An egress router: pods reach systems outside the cluster through it, from its addresses.',
              properties: {
                apiVersion: { description: 'The versioned schema of this object.', type: 'string' },
                kind: { description: 'The REST resource this object represents.', type: 'string' },
                metadata: { type: 'object' },
                spec,
                status,
              },
              required: ['spec'],
              type: 'object',
            },
          },
          served: true,
          storage: true,
          subresources: { status: {} },
        },
      ],
    },
  } as KubeObject;
  return {
    object,
    comment:
      'The EgressRouter API (network.operator.openshift.io/v1), schema as published by OpenShift. Install\n' +
      'it once per cluster where it is missing, before the EgressRouter objects. Not on OpenShift: there the\n' +
      'cluster-network-operator owns it (and turns each EgressRouter into a pod of its own).',
  };
}
