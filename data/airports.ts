// Reference tables behind the synthetic flights: real US airports (IATA code, the city name as the
// BTS on-time tables spell it, position) and real carrier codes, each with a rough traffic weight.
// Weights are relative shares, not statistics; they only make big hubs busier than small fields.

export interface Airport {
  readonly code: string;
  readonly city: string;
  readonly lat: number;
  readonly lon: number;
  readonly weight: number;
}

export interface Carrier {
  readonly code: string;
  readonly weight: number;
}

export const AIRPORTS: readonly Airport[] = [
  { code: 'ATL', city: 'Atlanta, GA', lat: 33.6407, lon: -84.4277, weight: 10 },
  { code: 'DFW', city: 'Dallas/Fort Worth, TX', lat: 32.8998, lon: -97.0403, weight: 9 },
  { code: 'DEN', city: 'Denver, CO', lat: 39.8561, lon: -104.6737, weight: 9 },
  { code: 'ORD', city: 'Chicago, IL', lat: 41.9742, lon: -87.9073, weight: 9 },
  { code: 'LAX', city: 'Los Angeles, CA', lat: 33.9416, lon: -118.4085, weight: 7 },
  { code: 'CLT', city: 'Charlotte, NC', lat: 35.2144, lon: -80.9473, weight: 7 },
  { code: 'LAS', city: 'Las Vegas, NV', lat: 36.084, lon: -115.1537, weight: 6 },
  { code: 'PHX', city: 'Phoenix, AZ', lat: 33.4342, lon: -112.0116, weight: 5 },
  { code: 'MCO', city: 'Orlando, FL', lat: 28.4312, lon: -81.3081, weight: 6 },
  { code: 'SEA', city: 'Seattle, WA', lat: 47.4502, lon: -122.3088, weight: 5 },
  { code: 'MIA', city: 'Miami, FL', lat: 25.7959, lon: -80.287, weight: 4 },
  { code: 'IAH', city: 'Houston, TX', lat: 29.9902, lon: -95.3368, weight: 5 },
  { code: 'JFK', city: 'New York, NY', lat: 40.6413, lon: -73.7781, weight: 5 },
  { code: 'LGA', city: 'New York, NY', lat: 40.7769, lon: -73.874, weight: 4 },
  { code: 'EWR', city: 'Newark, NJ', lat: 40.6895, lon: -74.1745, weight: 4 },
  { code: 'SFO', city: 'San Francisco, CA', lat: 37.6213, lon: -122.379, weight: 5 },
  { code: 'MSP', city: 'Minneapolis, MN', lat: 44.8848, lon: -93.2223, weight: 4 },
  { code: 'DTW', city: 'Detroit, MI', lat: 42.2162, lon: -83.3554, weight: 4 },
  { code: 'BOS', city: 'Boston, MA', lat: 42.3656, lon: -71.0096, weight: 4 },
  { code: 'FLL', city: 'Fort Lauderdale, FL', lat: 26.0742, lon: -80.1506, weight: 3 },
  { code: 'PHL', city: 'Philadelphia, PA', lat: 39.8744, lon: -75.2424, weight: 3 },
  { code: 'SLC', city: 'Salt Lake City, UT', lat: 40.7899, lon: -111.9791, weight: 4 },
  { code: 'BWI', city: 'Baltimore, MD', lat: 39.1774, lon: -76.6684, weight: 3 },
  { code: 'DCA', city: 'Washington, DC', lat: 38.8512, lon: -77.0402, weight: 3 },
  { code: 'IAD', city: 'Washington, DC', lat: 38.9531, lon: -77.4565, weight: 2 },
  { code: 'SAN', city: 'San Diego, CA', lat: 32.7338, lon: -117.1933, weight: 3 },
  { code: 'MDW', city: 'Chicago, IL', lat: 41.7868, lon: -87.7522, weight: 2 },
  { code: 'TPA', city: 'Tampa, FL', lat: 27.9755, lon: -82.5332, weight: 3 },
  { code: 'BNA', city: 'Nashville, TN', lat: 36.1263, lon: -86.6774, weight: 3 },
  { code: 'AUS', city: 'Austin, TX', lat: 30.1975, lon: -97.6664, weight: 3 },
  { code: 'HOU', city: 'Houston, TX', lat: 29.6454, lon: -95.2789, weight: 2 },
  { code: 'PDX', city: 'Portland, OR', lat: 45.5898, lon: -122.5951, weight: 2 },
  { code: 'STL', city: 'St. Louis, MO', lat: 38.7499, lon: -90.3748, weight: 2 },
  { code: 'MSY', city: 'New Orleans, LA', lat: 29.9911, lon: -90.2592, weight: 2 },
  { code: 'RDU', city: 'Raleigh/Durham, NC', lat: 35.8801, lon: -78.788, weight: 2 },
  { code: 'SJC', city: 'San Jose, CA', lat: 37.3639, lon: -121.9289, weight: 1 },
  { code: 'DAL', city: 'Dallas, TX', lat: 32.8471, lon: -96.8518, weight: 2 },
  { code: 'SMF', city: 'Sacramento, CA', lat: 38.6951, lon: -121.5908, weight: 1 },
  { code: 'HNL', city: 'Honolulu, HI', lat: 21.3187, lon: -157.9225, weight: 1 },
  { code: 'ANC', city: 'Anchorage, AK', lat: 61.1743, lon: -149.9963, weight: 1 },
];

export const CARRIERS: readonly Carrier[] = [
  { code: 'WN', weight: 17 },
  { code: 'DL', weight: 13 },
  { code: 'AA', weight: 13 },
  { code: 'UA', weight: 10 },
  { code: 'OO', weight: 9 },
  { code: 'YX', weight: 5 },
  { code: 'B6', weight: 4 },
  { code: 'NK', weight: 4 },
  { code: 'AS', weight: 4 },
  { code: 'MQ', weight: 4 },
  { code: '9E', weight: 3 },
  { code: 'OH', weight: 3 },
  { code: 'F9', weight: 3 },
  { code: 'G4', weight: 2 },
  { code: 'HA', weight: 1 },
];

// Scheduled departures per local hour (05:00 to 23:00), a morning and an evening bank.
export const DEPARTURE_HOUR_WEIGHTS: ReadonlyMap<number, number> = new Map([
  [5, 2], [6, 6], [7, 7], [8, 7], [9, 6], [10, 6], [11, 6], [12, 6], [13, 6], [14, 6],
  [15, 6], [16, 6], [17, 7], [18, 6], [19, 5], [20, 4], [21, 3], [22, 2], [23, 1],
]);

const EARTH_RADIUS_MILES = 3958.8;

/** Great-circle distance in whole statute miles, as the BTS DISTANCE column reports it. */
export function greatCircleMiles(a: Airport, b: Airport): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return Math.round(2 * EARTH_RADIUS_MILES * Math.asin(Math.sqrt(h)));
}
