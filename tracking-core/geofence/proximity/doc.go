// Package proximity reports proximity rules between the moving workers of a
// team: apart (two named workers too far from each other for too long) and
// alone (a worker with no teammate near for too long), each as an episode
// with an opening and a closing event. Events are geofence.Event values,
// with the same wire form and the same deterministic ids as fence events.
// See Engine for the rules of judgement.
package proximity
