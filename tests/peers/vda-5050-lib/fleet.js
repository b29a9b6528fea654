// Virtual VDA 5050 vehicles of a library nobody on the drover team wrote: vda-5050-lib's
// AgvController with its VirtualAgvAdapter (drives along order edges, runs pick/drop/charging
// actions, reports state). drover's interop test (crates/droverd/tests/interop.rs) starts it.
//
// Environment:
//   BROKER        mqtt://127.0.0.1:1883
//   IFACE         uagv
//   MANUFACTURER  acme
//   VEHICLES      JSON list of {"serial", "x", "y", "theta"}: one vehicle each, on map MAP_ID
//   MAP_ID        floor
//   SPEED         m/s (default 1)
//   TIME_LAPSE    time factor of the adapter (default 1)
//   STATE_MS      period of unprompted state messages (default 1000)
// Prints "ready" once every vehicle is connected; stops on SIGTERM/SIGINT.
const { AgvController, VirtualAgvAdapter } = require("vda-5050-lib");

const brokerUrl = process.env.BROKER || "mqtt://127.0.0.1:1883";
const interfaceName = process.env.IFACE || "uagv";
const manufacturer = process.env.MANUFACTURER || "acme";
const mapId = process.env.MAP_ID || "floor";
const vehicles = JSON.parse(process.env.VEHICLES || "[]");

// A throw inside an MQTT callback would take every vehicle down with it: report and go on.
process.on("uncaughtException", (e) => console.error("uncaughtException:", e.message));
process.on("unhandledRejection", (e) => console.error("unhandledRejection:", e && e.message));

// The adapter installs an empty factsheet; this one lists what it supports, so the
// coordinator can read the vehicle's actions and limits (published on factsheetRequest).
function factsheet(speed) {
    const actions = [
        ["pick", ["NODE"]], ["drop", ["NODE"]], ["startCharging", ["INSTANT", "NODE"]],
        ["stopCharging", ["INSTANT", "NODE"]], ["startPause", ["INSTANT"]], ["stopPause", ["INSTANT"]],
        ["initPosition", ["INSTANT", "NODE"]], ["cancelOrder", ["INSTANT"]],
        ["stateRequest", ["INSTANT"]], ["factsheetRequest", ["INSTANT"]],
    ];
    return {
        typeSpecification: {
            seriesName: "VirtualAGV", agvKinematic: "OMNI", agvClass: "CARRIER", maxLoadMass: 1000,
            localizationTypes: ["NATURAL"], navigationTypes: ["AUTONOMOUS"],
        },
        physicalParameters: {
            speedMin: 0, speedMax: speed, accelerationMax: 100, decelerationMax: 100,
            heightMin: 0.3, heightMax: 0.3, width: 1, length: 1,
        },
        protocolLimits: {
            maxStringLens: {}, maxArrayLens: {},
            timing: { minOrderInterval: 0.1, minStateInterval: 0.1 },
        },
        protocolFeatures: {
            optionalParameters: [],
            agvActions: actions.map(([actionType, actionScopes]) => ({ actionType, actionScopes })),
        },
        agvGeometry: {},
        loadSpecification: {},
    };
}

async function main() {
    const speed = parseFloat(process.env.SPEED || "1");
    const controllers = [];
    for (const v of vehicles) {
        const c = new AgvController(
            { manufacturer, serialNumber: v.serial },
            { interfaceName, transport: { brokerUrl }, vdaVersion: "2.0.0" },
            {
                agvAdapterType: VirtualAgvAdapter,
                publishStateInterval: parseInt(process.env.STATE_MS || "1000", 10),
                publishVisualizationInterval: 1000,
            },
            {
                initialPosition: { mapId, x: v.x, y: v.y, theta: v.theta || 0, lastNodeId: v.node || "" },
                vehicleSpeed: speed,
                timeLapse: parseFloat(process.env.TIME_LAPSE || "1"),
            },
        );
        await c.start();
        c.updateFactsheet(factsheet(speed));
        controllers.push(c);
    }
    console.log("ready");
    const stop = async () => {
        for (const c of controllers) await c.stop();
        process.exit(0);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
